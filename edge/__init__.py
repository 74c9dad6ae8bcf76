"""ser-edge: on-device speech emotion recognition (the device runtime).

This package imports only NumPy, the standard library, python-soxr and a TFLite
interpreter; optional extras (pyaudio, paho-mqtt, soundfile) load lazily.
"""

__version__ = "0.1.0"
