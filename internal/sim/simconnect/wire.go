package simconnect

import (
	"encoding/json"
	"strconv"
	"time"
)

// JSON shapes of the Connect model (restJson1 member names as written by
// the model; timestamps without a timestampFormat trait are epoch seconds
// as JSON numbers).

// epochSeconds marshals a time as restJson1's default timestamp format.
type epochSeconds time.Time

func (t epochSeconds) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

type identityInfoJSON struct {
	FirstName      string `json:"FirstName,omitempty"`
	LastName       string `json:"LastName,omitempty"`
	Email          string `json:"Email,omitempty"`
	SecondaryEmail string `json:"SecondaryEmail,omitempty"`
	Mobile         string `json:"Mobile,omitempty"`
}

type identityInfoLiteJSON struct {
	FirstName string `json:"FirstName,omitempty"`
	LastName  string `json:"LastName,omitempty"`
}

type phoneConfigIn struct {
	PhoneType                 string `json:"PhoneType"`
	AutoAccept                bool   `json:"AutoAccept"`
	AfterContactWorkTimeLimit *int64 `json:"AfterContactWorkTimeLimit"`
	DeskPhoneNumber           string `json:"DeskPhoneNumber"`
}

type phoneConfigJSON struct {
	PhoneType                 string `json:"PhoneType"`
	AutoAccept                bool   `json:"AutoAccept"`
	AfterContactWorkTimeLimit int64  `json:"AfterContactWorkTimeLimit"`
	DeskPhoneNumber           string `json:"DeskPhoneNumber,omitempty"`
}

type createUserIn struct {
	Username           string            `json:"Username"`
	Password           *string           `json:"Password"`
	IdentityInfo       *identityInfoJSON `json:"IdentityInfo"`
	PhoneConfig        *phoneConfigIn    `json:"PhoneConfig"`
	DirectoryUserID    *string           `json:"DirectoryUserId"`
	SecurityProfileIDs []string          `json:"SecurityProfileIds"`
	RoutingProfileID   string            `json:"RoutingProfileId"`
	HierarchyGroupID   *string           `json:"HierarchyGroupId"`
	Tags               map[string]string `json:"Tags"`
	// Per-channel settings of newer API versions, which make PhoneConfig
	// optional. They are accepted and not kept.
	AutoAcceptConfigs           json.RawMessage `json:"AutoAcceptConfigs"`
	AfterContactWorkConfigs     json.RawMessage `json:"AfterContactWorkConfigs"`
	PhoneNumberConfigs          json.RawMessage `json:"PhoneNumberConfigs"`
	PersistentConnectionConfigs json.RawMessage `json:"PersistentConnectionConfigs"`
	VoiceEnhancementConfigs     json.RawMessage `json:"VoiceEnhancementConfigs"`
}

type createUserOut struct {
	UserID  string `json:"UserId"`
	UserArn string `json:"UserArn"`
}

type userJSON struct {
	ID                 string            `json:"Id"`
	Arn                string            `json:"Arn"`
	Username           string            `json:"Username"`
	IdentityInfo       *identityInfoJSON `json:"IdentityInfo,omitempty"`
	PhoneConfig        phoneConfigJSON   `json:"PhoneConfig"`
	DirectoryUserID    string            `json:"DirectoryUserId,omitempty"`
	SecurityProfileIDs []string          `json:"SecurityProfileIds"`
	RoutingProfileID   string            `json:"RoutingProfileId"`
	HierarchyGroupID   string            `json:"HierarchyGroupId,omitempty"`
	Tags               map[string]string `json:"Tags,omitempty"`
	LastModifiedTime   epochSeconds      `json:"LastModifiedTime"`
	LastModifiedRegion string            `json:"LastModifiedRegion"`
}

type describeUserOut struct {
	User userJSON `json:"User"`
}

type userSummaryJSON struct {
	ID                 string       `json:"Id"`
	Arn                string       `json:"Arn"`
	Username           string       `json:"Username"`
	LastModifiedTime   epochSeconds `json:"LastModifiedTime"`
	LastModifiedRegion string       `json:"LastModifiedRegion"`
}

type listUsersOut struct {
	UserSummaryList []userSummaryJSON `json:"UserSummaryList"`
	NextToken       string            `json:"NextToken,omitempty"`
}

type updateIdentityInfoIn struct {
	IdentityInfo *identityInfoJSON `json:"IdentityInfo"`
}

type updateSecurityProfilesIn struct {
	SecurityProfileIDs []string `json:"SecurityProfileIds"`
}

type updateRoutingProfileIn struct {
	RoutingProfileID string `json:"RoutingProfileId"`
}

type updateHierarchyIn struct {
	HierarchyGroupID *string `json:"HierarchyGroupId"`
}

type stringConditionJSON struct {
	FieldName      string `json:"FieldName"`
	Value          string `json:"Value"`
	ComparisonType string `json:"ComparisonType"`
}

type hierarchyGroupConditionJSON struct {
	Value                   string `json:"Value"`
	HierarchyGroupMatchType string `json:"HierarchyGroupMatchType"`
}

type userSearchCriteriaJSON struct {
	OrConditions            []userSearchCriteriaJSON     `json:"OrConditions"`
	AndConditions           []userSearchCriteriaJSON     `json:"AndConditions"`
	StringCondition         *stringConditionJSON         `json:"StringCondition"`
	ListCondition           json.RawMessage              `json:"ListCondition"`
	HierarchyGroupCondition *hierarchyGroupConditionJSON `json:"HierarchyGroupCondition"`
}

type tagConditionJSON struct {
	TagKey   string `json:"TagKey"`
	TagValue string `json:"TagValue"`
}

type tagFilterJSON struct {
	OrConditions  [][]tagConditionJSON `json:"OrConditions"`
	AndConditions []tagConditionJSON   `json:"AndConditions"`
	TagCondition  *tagConditionJSON    `json:"TagCondition"`
}

type userSearchFilterJSON struct {
	TagFilter           *tagFilterJSON  `json:"TagFilter"`
	UserAttributeFilter json.RawMessage `json:"UserAttributeFilter"`
}

type searchUsersIn struct {
	InstanceID     string                  `json:"InstanceId"`
	NextToken      *string                 `json:"NextToken"`
	MaxResults     *int64                  `json:"MaxResults"`
	SearchFilter   *userSearchFilterJSON   `json:"SearchFilter"`
	SearchCriteria *userSearchCriteriaJSON `json:"SearchCriteria"`
}

type userSearchSummaryJSON struct {
	Arn                string                `json:"Arn"`
	DirectoryUserID    string                `json:"DirectoryUserId,omitempty"`
	HierarchyGroupID   string                `json:"HierarchyGroupId,omitempty"`
	ID                 string                `json:"Id"`
	IdentityInfo       *identityInfoLiteJSON `json:"IdentityInfo,omitempty"`
	PhoneConfig        phoneConfigJSON       `json:"PhoneConfig"`
	RoutingProfileID   string                `json:"RoutingProfileId"`
	SecurityProfileIDs []string              `json:"SecurityProfileIds"`
	Tags               map[string]string     `json:"Tags,omitempty"`
	Username           string                `json:"Username"`
}

type searchUsersOut struct {
	Users                 []userSearchSummaryJSON `json:"Users"`
	NextToken             string                  `json:"NextToken,omitempty"`
	ApproximateTotalCount int64                   `json:"ApproximateTotalCount"`
}

type profileSummaryJSON struct {
	ID                 string       `json:"Id"`
	Arn                string       `json:"Arn"`
	Name               string       `json:"Name"`
	LastModifiedTime   epochSeconds `json:"LastModifiedTime"`
	LastModifiedRegion string       `json:"LastModifiedRegion"`
}

type listSecurityProfilesOut struct {
	SecurityProfileSummaryList []profileSummaryJSON `json:"SecurityProfileSummaryList"`
	NextToken                  string               `json:"NextToken,omitempty"`
}

type listRoutingProfilesOut struct {
	RoutingProfileSummaryList []profileSummaryJSON `json:"RoutingProfileSummaryList"`
	NextToken                 string               `json:"NextToken,omitempty"`
}

type instanceSummaryJSON struct {
	ID                     string       `json:"Id"`
	Arn                    string       `json:"Arn"`
	IdentityManagementType string       `json:"IdentityManagementType"`
	InstanceAlias          string       `json:"InstanceAlias"`
	CreatedTime            epochSeconds `json:"CreatedTime"`
	ServiceRole            string       `json:"ServiceRole"`
	InstanceStatus         string       `json:"InstanceStatus"`
	InboundCallsEnabled    bool         `json:"InboundCallsEnabled"`
	OutboundCallsEnabled   bool         `json:"OutboundCallsEnabled"`
	InstanceAccessURL      string       `json:"InstanceAccessUrl"`
}

type describeInstanceOut struct {
	Instance instanceSummaryJSON `json:"Instance"`
}

type listInstancesOut struct {
	InstanceSummaryList []instanceSummaryJSON `json:"InstanceSummaryList"`
	NextToken           string                `json:"NextToken,omitempty"`
}
