"""Mean-opinion-score study: prepare the stimuli, serve the rating page, report MOS with confidence intervals.

    python -m jaxsharp.mos prepare --out study                  # crops of every method per image (prepare.py)
    python -m jaxsharp.mos serve --study study --db mos.sqlite  # the page on http://127.0.0.1:8000 (server.py)
    python -m jaxsharp.mos report --db mos.sqlite --json mos.json --plot mos.png   # (report.py)

Modules: study (the study directory's format), prepare, store (SQLite), server (HTTP + the page in
jaxsharp/assets/mos/), stats (Student-t intervals), report, simulate (simulated raters), cli.
Importing this package imports nothing else; `prepare` alone pulls in JAX.
"""
