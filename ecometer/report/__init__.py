"""Reports for people: HTML, text, PNG charts and the efficiency label, drawn from plain records.

Nothing here is imported by ``import ecometer``: matplotlib loads only when a chart is drawn.

May import every stage below it (record, impact, standards, forecast);
nothing below imports it.
"""
