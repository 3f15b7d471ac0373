-- Stock now keeps a return book (what was sold at each shelf and may come back, per batch and
-- per customer; domain/returns.py). Snapshots taken before lack it, and an upcast could only
-- start it empty. Snapshots are only a shortcut for cold loads, so they go: each stock is
-- rebuilt from its whole history, sales included, until its next snapshot is taken.
DELETE FROM public.inventory_snapshots;
