"""Survey-simulation baseline (Liu et al. 2025, "Towards realistic evaluation of cultural value
alignment in large language models: diversity enhancement for survey response simulation").

Pure parts only: the survey file format (`schema`), the Pew Global Attitudes morality loader
(`pew`), city personas (`personas`), the respondent prompt's fields (`prompt_fields`), answer
parsing (`answers`), the DEF memory (`memory`), the DEF generation configuration (`config`) and the
distribution metrics (`metrics`). No database, network or LLM calls live here.
"""
