"""`labdock room`: the lab hosts of an Ansible inventory, reached over SSH with Fabric."""
