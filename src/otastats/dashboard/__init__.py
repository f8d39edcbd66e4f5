"""The dashboard: a page served by otastats that draws the Statistics API's figures."""
