"""The floor the browser figures are divided by: a trivial Streamlit page with one tiny map.

One selectbox and one pydeck chart of three points (no base map, no tiles), run by
the same Streamlit and drawn by the same deck.gl in the same software WebGL as the
app. Navigation to it, a change of the selectbox (one point's colour) and the redraw
that follows are what the machine cannot do faster under its load of the moment.
"""

import pydeck as pdk
import streamlit as st

colour = st.selectbox("Colour", ["blue", "red"], key="floor_colour")
rgb = [40, 90, 200] if colour == "blue" else [200, 60, 40]
points = [{"lon": -122.4, "lat": 37.8}, {"lon": -118.2, "lat": 34.1}, {"lon": -117.2, "lat": 32.7}]
layer = pdk.Layer("ScatterplotLayer", points, get_position="[lon, lat]", get_fill_color=rgb, get_radius=20_000)
view = pdk.ViewState(latitude=36.5, longitude=-119.5, zoom=4.6)
st.pydeck_chart(pdk.Deck(layers=[layer], initial_view_state=view, map_style=None), height=480)
