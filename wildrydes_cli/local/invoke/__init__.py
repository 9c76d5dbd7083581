"""An execute-api call: route -> proxy event -> the deployed function in a worker -> proxy response.

  routes.py            which resource, method and function, from moto's API Gateway
  usage_plans.py       API keys (403), throttling and quotas (429) before the function runs
  gateway.py           API Gateway's proxy integration as pure functions (event in, response out)
  functions.py         the deployed function's verified code
  runner.py            warm worker pools per function; timeouts; retirement on change
  worker.py            one execution environment: a child process that imports the handler once
  lambda_log_lines.py  what Lambda writes to CloudWatch Logs per invocation (START/END/REPORT)
  kept_logs.py         those events kept on disk across restarts (bounded, synced once a second)
  kept_logs_file.py    the kept events' file format
  kept_logs_restore.py those events put back into moto at start (after the journal replay)

Imports local/http.py, awsapi/moto_backends/, awsapi/function_credentials.py and the ground only.
"""
