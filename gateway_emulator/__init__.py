"""A Docker-free local API Gateway (REST, v1) + AWS Lambda emulator driven by the SAM template.

``python -m gateway_emulator`` (or ``make serve``) reads ``template.yaml`` as samtranslator
transforms it and serves its REST API on 127.0.0.1:3000, running the function in execution
environments made of the Lambda Runtime Interface Emulator (shipped in the aws-sam-cli wheel)
and ``awslambdaric``. See docs/emulator.md.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
