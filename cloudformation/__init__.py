"""CloudFormation templates; shipped inside the CLI as wildrydes_cli.templates (see setup.cfg)."""
