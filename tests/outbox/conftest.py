import sys
from pathlib import Path

# contract_events.py is shared with crash_writer.py, which runs as a plain script.
sys.path.insert(0, str(Path(__file__).parent))
