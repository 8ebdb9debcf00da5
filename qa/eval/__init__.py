"""Evaluation of newsqa on gold questions: `qa.eval.runner.run_eval(qa.eval.config.EvalConfig(...))`."""
