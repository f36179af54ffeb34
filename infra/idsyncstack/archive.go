package idsyncstack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesisfirehose"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awspipes"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
)

// Archive is the ledger's tamper-evident copy: the ledger table's stream
// (NEW_IMAGE) → an EventBridge pipe → a Firehose delivery stream → an S3
// bucket with Object Lock in COMPLIANCE mode. Every insert, overwrite and
// removal of a ledger row becomes a stream record, and every record is
// written to an object version no one can delete or overwrite until its
// retention ends. Managed services only: no function code, no function
// role that could touch the bucket.
type Archive struct {
	Bucket         awss3.Bucket
	DeliveryStream awskinesisfirehose.CfnDeliveryStream
	Pipe           awspipes.CfnPipe
	// PipeRole and DeliveryRole are the services' roles.
	PipeRole, DeliveryRole awsiam.Role
}

// Archive settings that are not properties.
const (
	archivePrefix      = "ledger/!{timestamp:yyyy/MM/dd}/"
	archiveErrorPrefix = "errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/"
	archiveBufferSecs  = 300 // Firehose writes an object at most every 5 minutes…
	archiveBufferMB    = 5   // …or every 5 MB
	archivePipeBatch   = 100 // stream records per PutRecordBatch (Firehose takes up to 500)
	archivePipeWindow  = 60  // seconds the pipe waits to fill a batch
)

// archive adds the ledger's archive.
func (b *builder) archive(ledger awsdynamodb.Table) Archive {
	stack := b.stack
	account := stack.Account()
	name := b.s.Prefix + "ledger-archive"

	bucket := awss3.NewBucket(stack, jsii.String("LedgerArchive"), &awss3.BucketProps{
		// Object Lock needs versioning; COMPLIANCE retention cannot be
		// shortened or removed by anyone, the account root included.
		Versioned:                  jsii.Bool(true),
		ObjectLockEnabled:          jsii.Bool(true),
		ObjectLockDefaultRetention: awss3.ObjectLockRetention_Compliance(awscdk.Duration_Days(jsii.Number(float64(b.s.ArchiveRetentionDays)))),
		// SSE-S3: no customer key whose deletion would make the archive
		// unreadable.
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		EnforceSSL:        jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("abort-incomplete-uploads"),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
		}},
	})

	// Firehose: writes batches of stream records, one per line, gzipped.
	deliveryRole := awsiam.NewRole(stack, jsii.String("LedgerArchiveDeliveryRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("firehose.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"sts:ExternalId": account}},
		}),
		Description: jsii.String("idsync ledger archive: Firehose writes new objects to the archive bucket"),
	})
	deliveryLogs := awslogs.NewLogGroup(stack, jsii.String("LedgerArchiveDeliveryLogs"), &awslogs.LogGroupProps{
		Retention:     b.s.LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	deliveryLogStream := awslogs.NewLogStream(stack, jsii.String("LedgerArchiveDeliveryLogStream"), &awslogs.LogStreamProps{
		LogGroup:      deliveryLogs,
		LogStreamName: jsii.String("S3Delivery"),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	// Firehose's documented S3 destination permissions; no delete, no
	// retention or legal-hold changes.
	allow(deliveryRole, "ArchiveBucket", []string{"s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"},
		[]*string{bucket.BucketArn()}, nil)
	allow(deliveryRole, "ArchiveObjects", []string{"s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"},
		[]*string{bucket.ArnForObjects(jsii.String("*"))}, nil)
	allow(deliveryRole, "DeliveryLogs", []string{"logs:PutLogEvents"}, []*string{deliveryLogs.LogGroupArn()}, nil)

	delivery := awskinesisfirehose.NewCfnDeliveryStream(stack, jsii.String("LedgerArchiveDelivery"), &awskinesisfirehose.CfnDeliveryStreamProps{
		DeliveryStreamName: jsii.String(name),
		DeliveryStreamType: jsii.String("DirectPut"),
		DeliveryStreamEncryptionConfigurationInput: &awskinesisfirehose.CfnDeliveryStream_DeliveryStreamEncryptionConfigurationInputProperty{
			KeyType: jsii.String("AWS_OWNED_CMK"),
		},
		ExtendedS3DestinationConfiguration: &awskinesisfirehose.CfnDeliveryStream_ExtendedS3DestinationConfigurationProperty{
			BucketArn:         bucket.BucketArn(),
			RoleArn:           deliveryRole.RoleArn(),
			Prefix:            jsii.String(archivePrefix),
			ErrorOutputPrefix: jsii.String(archiveErrorPrefix),
			CompressionFormat: jsii.String("GZIP"),
			BufferingHints: &awskinesisfirehose.CfnDeliveryStream_BufferingHintsProperty{
				IntervalInSeconds: jsii.Number(archiveBufferSecs),
				SizeInMBs:         jsii.Number(archiveBufferMB),
			},
			ProcessingConfiguration: &awskinesisfirehose.CfnDeliveryStream_ProcessingConfigurationProperty{
				Enabled: jsii.Bool(true),
				Processors: &[]any{&awskinesisfirehose.CfnDeliveryStream_ProcessorProperty{
					Type: jsii.String("AppendDelimiterToRecord"),
				}},
			},
			CloudWatchLoggingOptions: &awskinesisfirehose.CfnDeliveryStream_CloudWatchLoggingOptionsProperty{
				Enabled:       jsii.Bool(true),
				LogGroupName:  deliveryLogs.LogGroupName(),
				LogStreamName: deliveryLogStream.LogStreamName(),
			},
		},
	})
	// Firehose checks its access to the bucket when the stream is created.
	delivery.Node().AddDependency(deliveryRole)

	// The pipe: reads the ledger's stream from its oldest record and puts
	// batches into Firehose. A failing batch is retried until its records
	// expire from the stream (24 hours), never discarded earlier.
	pipeRole := awsiam.NewRole(stack, jsii.String("LedgerArchivePipeRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("pipes.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": account}},
		}),
		Description: jsii.String("idsync ledger archive: the pipe reads the ledger's stream and writes to Firehose"),
	})
	allow(pipeRole, "LedgerStream", []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"},
		[]*string{ledger.TableStreamArn()}, nil)
	// ListStreams has no resource-level permission: Resource "*" is the only
	// form IAM accepts (it lists stream ARNs, no data).
	allow(pipeRole, "ListStreams", []string{"dynamodb:ListStreams"}, []*string{jsii.String("*")}, nil)
	allow(pipeRole, "ArchiveDelivery", []string{"firehose:PutRecord", "firehose:PutRecordBatch"},
		[]*string{delivery.AttrArn()}, nil)

	pipe := awspipes.NewCfnPipe(stack, jsii.String("LedgerArchivePipe"), &awspipes.CfnPipeProps{
		Name:         jsii.String(name),
		Description:  jsii.String("idsync: ledger stream (NEW_IMAGE) to the Object Lock archive"),
		RoleArn:      pipeRole.RoleArn(),
		Source:       ledger.TableStreamArn(),
		Target:       delivery.AttrArn(),
		DesiredState: jsii.String("RUNNING"),
		SourceParameters: &awspipes.CfnPipe_PipeSourceParametersProperty{
			DynamoDbStreamParameters: &awspipes.CfnPipe_PipeSourceDynamoDBStreamParametersProperty{
				StartingPosition:               jsii.String("TRIM_HORIZON"),
				BatchSize:                      jsii.Number(archivePipeBatch),
				MaximumBatchingWindowInSeconds: jsii.Number(archivePipeWindow),
				MaximumRetryAttempts:           jsii.Number(-1),
				MaximumRecordAgeInSeconds:      jsii.Number(-1),
				OnPartialBatchItemFailure:      jsii.String("AUTOMATIC_BISECT"),
			},
		},
	})
	// Pipes checks the role's access to the stream when the pipe is created.
	pipe.Node().AddDependency(pipeRole)

	return Archive{Bucket: bucket, DeliveryStream: delivery, Pipe: pipe, PipeRole: pipeRole, DeliveryRole: deliveryRole}
}
