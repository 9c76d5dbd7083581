"""wildrydes: serve SageMaker Linear Learner models from S3 through API Gateway and Lambda.

The packages, by concern (each ``__init__.py`` lists its modules):
  cli/        the edge: Click commands, the console, the text form of every result
  deploy/     making and unmaking: bootstrap, package, stack, wiring, cleanup
  observe/    reading what deploy made: predict, status, logs, the models in the bucket
  training/   training linear-learner models locally and publishing them where SageMaker would
  aws/        the seam to AWS: the target, the one boto3 wrapper, its errors, regions, accounts
  local/      the embedded local target (a daemon): its HTTP front, AWS APIs and Lambda runner
  (root)      the ground every layer stands on: settings, errors, results, the bucket layout,
              the deployment record, the state directory, progress, the scratchpad format,
              what needs MXNet, the model check shared by train and deploy, a model's metrics.json
              (model_card), the crash tests' kill points (faults), Linear Learner as data (images
              per region, hyperparameters, metrics) for train and local, and the loopback that no
              proxy from the environment may take (loopback)
  function/   ``lambda/`` as installed: the deployed function's code (the zip's root)
  templates/  ``cloudformation/`` as installed

The dependency rule (tests/test_import_rule.py reads every import, lazy ones too):
  cli -> deploy | observe | training -> aws -> (root)
  aws -> local              (the target starts the emulator and signs with its credentials)
  local -> (root) only      (never cli, deploy, observe, training or aws; it runs the local
                            Linear Learner as a process, `python -m wildrydes_cli.training.algorithm`,
                            as SageMaker runs a container: named once, in local/training/runner.py)
  deploy, observe and training do not import one another
  lambda/ imports nothing of wildrydes_cli: it ships alone in the zip
Inside local/: front/, awsapi/ and invoke/ meet only in its composition modules
(server, daemon); invoke/ and training/ read moto through awsapi/moto_backends; invoke/
runs functions with their role sessions from awsapi/function_credentials; all share local/http.py.
"""
__version__ = "0.1.0"
