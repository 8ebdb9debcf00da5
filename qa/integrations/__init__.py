"""newsqa inside other frameworks: llama-index (`qa.integrations.llama_index`)."""
