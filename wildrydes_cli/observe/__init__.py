"""Reading what deploy made, without changing it.

  predict.py   ``wildrydes predict``: POST a ride (or a CSV batch) to the invoke URL
  ride_table.py  ``predict --file``: the CSV of rides, its other columns kept for the output
  status.py    ``wildrydes status``: stacks, function, API, and is the newest model served
  logs.py      ``wildrydes logs``: the function's CloudWatch Logs events, grouped by request
  catalog.py   ``wildrydes models``: the default models and each breed's newest, with metrics
  breed_history.py  ``models --breed NAME``: a breed's models, which one latest.json names, its moves
  jobs.py      ``wildrydes jobs``: recent SageMaker training jobs, their status, metrics and model
  keys.py      ``wildrydes keys show|list``: the API key (--auth api-key), its value only when asked

Imports aws/ and the ground; not deploy/ or training/.
"""
