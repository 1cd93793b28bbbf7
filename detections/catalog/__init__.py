"""Rule catalog: finding, safely reading, validating and compiling Sigma rules."""
