"""Reports for people: HTML, text, PNG charts and the efficiency label, drawn from plain records.

Nothing here is imported by ``import ecometer``: matplotlib loads only when a chart is drawn.
"""
