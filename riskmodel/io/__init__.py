"""Reading and writing files: TOML, CSV and Excel tables, cell parsing, located input errors,
atomic writes, path conventions, the files shipped with the package, number formatting.

The lowest stage: it imports nothing else from riskmodel.
"""
