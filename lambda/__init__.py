"""Root of the deployment zip; shipped inside the CLI as wildrydes_cli.function (see setup.cfg)."""
