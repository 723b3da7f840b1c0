"""Provider-specific SDK for Google Cloud (docs/transform.md, "Provider-specific modules").

``cratis transform`` keeps calls of ``infrar.gcp.*`` as they are and warns that the code is tied
to GCP (an error with ``--deny-lock-in``), so the deployed code needs this package too
(``pip install sdk/python[gcp]``). These always call Google Cloud, whatever INFRAR_PROVIDER says.
"""
