"""`python -m iot_mock`: the same as the `iot-mock` command."""

import sys

from iot_mock.entry import main

sys.exit(main())
