"""What the app uses: certificate verification, keyring storage, activation, trial."""
