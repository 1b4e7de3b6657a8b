"""What people read: terminal text, SVG charts, the quarterly report and advisors' review
(papermill batches) and the dashboard (ipywidgets, served by Voila).
"""
