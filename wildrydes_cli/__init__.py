"""wildrydes: serve SageMaker Linear Learner models from S3 through API Gateway and Lambda."""
__version__ = "0.1.0"
