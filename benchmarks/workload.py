"""What every contender sends: the model name, key, token limit and prompt."""

MODEL = "bench-model"
API_KEY = "sk-bench"
MAX_TOKENS = 4096
PROMPT = "hi"
