"""Every byte of the external contract (DESIGN section 4), in one package.

Reading payloads and CSV (`readings`), status and command-response JSON (`messages`), topic
names (`topics`), the command envelope read the same way from MQTT and REST (`envelope`) and the
MQTT 3.1.1 PUBLISH packet codec (`packets`). It sits just above the model layer: it imports
`engine.model` and `engine.errors` only, never the runtime, a socket or a client library, so a
change to the contract's bytes is a change here and nowhere else.
"""
