"""PHIS: the public-health information system of Dongying."""
