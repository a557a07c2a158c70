"""Altair chart builders: a pandas DataFrame in, an Altair chart out, no Streamlit.

Pages draw these with ``st.altair_chart``; the CLI saves them with ``common.save_chart``.
Keeping the chart specs here makes them testable through ``chart.to_dict()`` (AppTest cannot
look inside an Altair element). One module per subject: ``simulation``, ``agreement``,
``model``, ``insights``; ``common`` holds the shared colours and file export.
"""
