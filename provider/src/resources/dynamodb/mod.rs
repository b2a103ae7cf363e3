//! DynamoDB: the `bankplatform_dynamodb_table` composite (a table as a bank's data
//! tier and a Terraform state lock need it).

pub mod table;
