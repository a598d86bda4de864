"""Streamlit helpers the pages share (the only package besides ``pages/`` that imports streamlit)."""
