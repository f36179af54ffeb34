// Package bintest holds no code: its test builds each of idsync's Lambda
// mains as a `bootstrap` for the host (-tags lambda.norpc), runs it under
// lambdart's Runtime API server against the local stand-ins (DynamoDB Local,
// fauxqs, the IdentityStore, WorkMail and Connect stand-ins and a small SSM
// fake), and checks the answers the real aws-lambda-go runtime loop gives
// and their effects. One table row per binary; a guard test fails when a
// Lambda main under cmd/ has no row.
package bintest
