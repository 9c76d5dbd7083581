"""The local target's SageMaker training jobs, run for real (the built-in Linear Learner).

  api.py       Create/Describe/List/StopTrainingJob in SageMaker's JSON protocol; other SageMaker calls go to moto
  validate.py  CreateTrainingJob checked as SageMaker checks it (ValidationException, ResourceInUse, quota)
  jobs.py      the job records, kept on disk; a job running at stop is Failed at the next start
  runner.py    a job in the background: states, channels from the emulator's S3, the algorithm process,
               log streams, metrics, the artifact, stop and time limits

The algorithm itself is ``python -m wildrydes_cli.training.algorithm`` (the project's trainer behind
SageMaker's container contract): run as a process, never imported (local/ imports only the ground).
"""
