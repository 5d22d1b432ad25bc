"""The offline plan, the layer above ``components/``: the real program run under Pulumi's mock
engine and recorded (``plan``), rendered for people (``render``), and two versions compared
(``diff``). ``berth/`` stays the domain and imports none of this; only its command-line entry
point reaches up here."""
