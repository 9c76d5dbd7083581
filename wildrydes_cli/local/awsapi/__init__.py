"""local/awsapi."""
