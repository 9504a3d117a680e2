"""Run the sklearn-cfc demo: ``python -m sklearn_cfc``."""

from ._demo import main

if __name__ == "__main__":
    main()
