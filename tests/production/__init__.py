"""Production behaviour: faults, replicas, shared quotas, against real services."""
