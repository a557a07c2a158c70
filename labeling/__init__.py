"""LabelLoop domain logic: everything the pages and the CLI call, with no Streamlit in it."""
