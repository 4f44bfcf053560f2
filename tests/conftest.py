"""Suite-wide settings.

Lessons render silently unless a test asks for narration: the default narrator ("auto") would load the
Piper voice (≈ 1.4 s) and speak every shot in every rendering test. Tests about narration pass a narrator
explicitly (tests/test_narration.py); `make demo` exercises the default.
"""

import os

os.environ.setdefault("EDUSDK_NARRATOR", "none")
