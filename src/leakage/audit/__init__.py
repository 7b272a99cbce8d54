"""Privacy auditing: canaries and empirical epsilon lower bounds from membership scores."""
