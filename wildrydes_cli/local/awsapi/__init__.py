"""An AWS API call to the local target: SigV4 gate -> journal -> moto, and the state it keeps.

  auth.py           the SigV4 gate: only calls signed with this user's local credentials pass
                    (or with a deployed function's role session, then checked by role_calls.py);
                    and, for an AWS_IAM method, the signature execute_api_auth.py asks it to check
  sigv4.py          SigV4 as data: the signed request parsed, its canonical request, its time window
  execute_api_auth.py  an AWS_IAM method's caller checked as API Gateway does (5-minute window, its messages)
  iam_users.py      the account's IAM users as such callers: active access keys, user and group policies
  credentials.py    those credentials (generated per user, 0600)
  function_credentials.py  a function's execution-role session (AssumeRole in moto's STS, as Lambda)
  role_calls.py     a role session's S3 calls checked against its role's policies before moto
  iam_policy.py     IAM policy documents parsed and evaluated (Allow/Deny, principals, same-account logic)
  iam_matching.py   the matching inside them: wildcards, ARNs, policy variables, condition operators
  s3_actions.py     the IAM actions, resources and condition keys of an S3 request (pure)
  persist.py        the one door to moto: mutating calls journaled (fsync) before they are answered
  journal.py        the append-only journal and its blobs; replayed at start; damage refused
  journal_format.py its checksummed frames: a torn last record told apart from damage
  journal_blobs.py  large bodies as blobs/<sha256>: written durably (ahead of their frame), checked when read
  journal_recovery.py  `local start --recover`: keep every intact record, set the damage aside
  s3_uploads.py     multipart upload ids kept across a restart; 404 NoSuchUpload for unknown ones
  s3_digests.py     Content-MD5 and x-amz-checksum-* checked against the body: S3's 400s
  log_filter_pattern.py  FilterLogEvents' filter patterns read as CloudWatch reads them (pure; moto_backends.logs)
  aws_errors.py     errors in each protocol's own shape (S3 XML, query XML, JSON)
  replay_s3.py      a journaled plain PutObject replayed straight into moto's S3 backend
  compact.py        drop the records a later one wholly replaced (S3 objects), when it pays
  compact_s3.py     what one journaled S3 request does to objects (pure classification)
  wsgi.py           hand a request to moto's WSGI application, in-process
  moto_backends/    every read of moto's in-memory backends, and the AssumeRole (its contract test pins moto);
                    one module per service (apigateway, lambda_functions, s3, iam, logs, cloudformation),
                    memory (moto's registry made weak), replay (the journal's direct writes) and iam_writes
                    (a generation moved by every IAM or CloudFormation write: what iam_users.py's cache keys on)
  stack_rules.py    CloudFormation's AlreadyExists (a log group that exists), and its errors as XML
  stack_updates.py  an UpdateStack's new role policies applied (moto keeps the old), live and on replay
  stack_keys.py     a stack's API keys, usage plans and associations, made from its template (moto skips them)

Imports local/http.py and the ground only.
"""
