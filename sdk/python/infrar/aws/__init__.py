"""Provider-specific SDK for AWS (docs/transform.md, "Provider-specific modules").

``cratis transform`` keeps calls of ``infrar.aws.*`` as they are and warns that the code is tied
to AWS (an error with ``--deny-lock-in``), so the deployed code needs this package too
(``pip install sdk/python[aws]``). Unlike the provider-agnostic modules these do not look at
INFRAR_PROVIDER: they always call AWS (the endpoint from AWS_ENDPOINT_URL, as everywhere).
"""
