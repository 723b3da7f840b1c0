import os
import boto3
from google.cloud import storage as gcs_storage
from azure.storage.blob import BlobServiceClient
from infrar.storage import upload

print(os.getcwd(), boto3, gcs_storage, BlobServiceClient)
upload('b', 's', 'd')
