/** The bucket index format lives in tsdb, shared with the store gateway that reads it. */
export { BUCKET_INDEX_FILE, buildBucketIndex, decodeBucketIndex, encodeBucketIndex, type BucketIndex } from '@strata/tsdb';
