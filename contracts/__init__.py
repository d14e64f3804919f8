"""The platform's event contracts, one place for every service and the gateway: topic names
(``topics``), the envelope (``envelope``), one model per event type and data version (one
module per producer), and the catalogue generated from them (``catalogue``)."""
