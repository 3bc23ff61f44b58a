"""RQ jobs: plain functions taking small serialisable arguments (ids, never objects).

One module per capability (imports, events, maintenance); each job opens what it needs through
`workers.context.job_context()`.
"""
