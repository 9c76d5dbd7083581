"""Training linear-learner-compatible models on this machine and publishing them where SageMaker would.

  service.py            ``wildrydes train`` below the command line: data -> trainer -> archive -> S3
  data.py               the training table from the workshop's CSV or JSON Lines
  synthetic.py          rides shaped like the workshop's, labelled by its rule (and per-breed variants)
  choose_trainer.py     ``--trainer auto|numpy|mxnet``: which trainer runs here
  mxnet_trainer.py      the MXNet trainer, the way SageMaker's linear-learner trains
  numpy_trainer.py      the same model with numpy alone (Pythons without MXNet)
  metrics.py            validation metrics and linear-learner's threshold choice
  sagemaker_archive.py  write SageMaker's ``model.tar.gz`` with the standard library
  publish.py            put the archive under a training-job key (or a breed's prefix and index), its metrics.json beside it
  streaming.py          reading a table in bounded memory: blocks of lines, numpy's parser, float32 rows
  channels.py           Linear Learner's CSV channels: the fast writer, the reader (a header refused)
  recordio_protobuf.py  Linear Learner's recordio-protobuf channels (the default): the vectorized writer, the reader
  record_decode.py      RecordIO frames and protobuf Records decoded by hand: the general, bounded reader
  algorithm.py          the local Linear Learner: ``python -m wildrydes_cli.training.algorithm train ROOT``,
                        SageMaker's container contract around the numpy trainer (the local target runs it)
  sagemaker_job.py      ``train --on sagemaker``: checks, channels uploaded, CreateTrainingJob
  job_watch.py          waiting for a job (transitions, Ctrl-C), its model, the queue of ``--breeds``
  scoring.py            score rides with a published model: the function's reader, numpy, checked by the lean engine
  evaluate.py           ``wildrydes evaluate``: a model's figures on labelled rides, offline (--against a second)
  gate.py               the quality gate of ``deploy`` and ``train --breed(s)``: not worse than the served model
  validation_rows.py    a model's held-out rows (at most 20,000, float32) stored beside it for the deploy gate

Imports aws/ and the ground; not deploy/ or observe/.
"""
