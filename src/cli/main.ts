console.log('shardvault: under construction');
