"""The edge: parse the command line, call one core function per command, render its result.

  main.py            the ``wildrydes`` group, every command registered on it; exit codes are decided here only
  train_commands.py  ``wildrydes train`` (here, or ``--on sagemaker`` through sagemaker_commands.py)
  deploy_commands.py ``wildrydes scratchpad``, ``bootstrap``, ``deploy``, ``package`` and ``cleanup``
  observe_commands.py  ``wildrydes predict``, ``status`` and ``logs``
  local_commands.py  ``wildrydes local start|stop|reset|compact|status|env``
  model_commands.py  ``wildrydes models``, ``evaluate``, ``history``, ``rollback`` and ``promote``
  keys_commands.py   ``wildrydes keys show|list|rotate`` (the API key of ``deploy --auth api-key``)
  options.py         what the command modules share: the settings, option checks (bucket names, local files)
  global_options.py  --target --region --profile --output --scratchpad --debug, before or after the command
  sagemaker_commands.py  ``train``'s ``--on sagemaker`` options and its one call; ``wildrydes jobs``
  console.py         all terminal output (rich behind one small class), JSON for --output json
  presentation.py    the text form of every result (``show``), through the views below for some
  training_views.py  the text form of ``train`` (local, breeds, a SageMaker job and its progress) and ``jobs``
  model_views.py     the text form of ``models``, ``evaluate`` and the quality gate
  canary_views.py    the text form of ``deploy --canary``, ``promote`` and a canary's ``rollback``
  explain_view.py    "why this score" as a sorted bar chart

May import every other package; nothing imports it.
"""
