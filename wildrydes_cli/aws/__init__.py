"""The seam to AWS: where a command acts, and the one wrapper that talks to it.

  target.py       AwsTarget or LocalTarget: everything that differs between the two
  client.py       ``Aws``: the one boto3 wrapper (its plumbing, one polling loop; the intents mixed in below)
  stacks.py       ``Aws``'s CloudFormation intents (deploy, wait, read, delete a stack)
  buckets.py      ``Aws``'s S3 intents (objects, keys, the newest model, encryption, emptying a bucket)
  lambda_functions.py  ``Aws``'s Lambda and IAM intents (a function's configuration and MODEL_PATH, its role)
  rest_apis.py    ``Aws``'s API Gateway and CloudWatch Logs intents (methods, stages, keys, log events)
  boto_errors.py  botocore errors -> project errors that name a fix (used by the wrapper only)
  call_log.py     --debug's line per AWS API call, from botocore's event hooks (used by client.py only)
  settle.py       CloudFormation's stack states as rules: in progress, failed, why it failed
  checks.py       preflight checks real AWS needs: the bucket's region, what the function role can read
  regions.py      is a region name one we can act in (botocore's partition data, read directly)
  accounts.py     which account the credentials belong to (state and locks are per account)
  data_bucket.py  which bucket holds the models when the user did not say
  api_keys.py     the stack's API key (--auth api-key), found by the name its template gives it
  found_deployment.py  the deployment commands read: deploy's record, else what the stacks show (made by hand)
  training_jobs.py  ``Aws``'s SageMaker training-job intents (create, describe, stop, list, the job's log)
  function_versions.py  ``Aws``'s Lambda version and alias intents (publish, the weighted alias, a canary's state)

Imports the ground and local/ (to start the emulator and read its credentials), nothing above.
"""
