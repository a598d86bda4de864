"""Maps: colour scales, pydeck layers and whole decks, as pure functions (no streamlit).

``maps.colours`` (palettes, fixed scales, legends as data), ``maps.layers`` (one
function per layer), ``maps.decks`` (the assembled ``pydeck.Deck`` of each page).
"""
