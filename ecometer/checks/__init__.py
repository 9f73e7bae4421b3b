"""Checks at the boundary with the user: the numbers a user gives and the text ecometer shows.

- :mod:`ecometer.checks.numbers`: :func:`~ecometer.checks.numbers.check_number`, the one check
  for a number given to a public entry (finite, in range, a clear error naming it).
- :mod:`ecometer.checks.text`: :func:`~ecometer.checks.text.display_text`, the one way to make
  text from records, corpora and standards safe to print or write (no control, format or bidi
  characters, no unencodable surrogates), and the checks that refuse look-alike labels.

These modules import nothing of ecometer but :mod:`ecometer.errors`, so every layer may use them.
May import: :mod:`ecometer.errors` only.
"""
